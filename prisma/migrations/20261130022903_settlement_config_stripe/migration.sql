-- CreateTable
CREATE TABLE "SettlementConfigVersion" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "allowedRails" TEXT[],
    "defaultRail" TEXT,
    "x402UsdcBaseAddress" TEXT,
    "destinationSnapshot" JSONB,
    "digestHex" TEXT NOT NULL,
    "createdBy" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SettlementConfigVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StripeDestination" (
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "linkedAccountId" TEXT,
    "status" TEXT NOT NULL,
    "livemode" BOOLEAN NOT NULL,
    "chargesEnabled" BOOLEAN NOT NULL,
    "payoutsEnabled" BOOLEAN NOT NULL,
    "detailsSubmitted" BOOLEAN NOT NULL,
    "achDebitCapability" TEXT NOT NULL,
    "transfersCapability" TEXT NOT NULL,
    "cardPaymentsCapability" TEXT NOT NULL,
    "disabledReason" TEXT,
    "country" TEXT,
    "defaultCurrency" TEXT,
    "linkedBy" TEXT,
    "linkedAt" TIMESTAMPTZ(3) NOT NULL,
    "refreshedAt" TIMESTAMPTZ(3) NOT NULL,
    "unlinkedAt" TIMESTAMPTZ(3),

    CONSTRAINT "StripeDestination_pkey" PRIMARY KEY ("tenantId")
);

-- CreateTable
CREATE TABLE "StripePaymentIntentLink" (
    "paymentIntentId" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "intentId" TEXT NOT NULL,
    "livemode" BOOLEAN NOT NULL,
    "lastStatus" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "checkedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "StripePaymentIntentLink_pkey" PRIMARY KEY ("paymentIntentId")
);

-- CreateTable
CREATE TABLE "StripeWebhookEvent" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "livemode" BOOLEAN NOT NULL,
    "account" TEXT,
    "stripeCreated" TIMESTAMPTZ(3) NOT NULL,
    "tenantId" TEXT,
    "intentId" TEXT,
    "status" TEXT NOT NULL,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "effect" JSONB NOT NULL,
    "payloadSha256" TEXT NOT NULL,
    "replayCount" INTEGER NOT NULL DEFAULT 0,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL,
    "lastReceivedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "StripeWebhookEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "SettlementConfigVersion_tenantId_version_key" ON "SettlementConfigVersion"("tenantId", "version");

-- CreateIndex
CREATE UNIQUE INDEX "StripeDestination_linkedAccountId_key" ON "StripeDestination"("linkedAccountId");

-- CreateIndex
CREATE INDEX "StripePaymentIntentLink_tenantId_checkedAt_idx" ON "StripePaymentIntentLink"("tenantId", "checkedAt");

-- CreateIndex
CREATE UNIQUE INDEX "StripePaymentIntentLink_tenantId_intentId_key" ON "StripePaymentIntentLink"("tenantId", "intentId");

-- CreateIndex
CREATE INDEX "StripeWebhookEvent_tenantId_status_receivedAt_idx" ON "StripeWebhookEvent"("tenantId", "status", "receivedAt");

-- CreateIndex
CREATE INDEX "StripeWebhookEvent_tenantId_lastReceivedAt_idx" ON "StripeWebhookEvent"("tenantId", "lastReceivedAt");

-- Configuration versions are immutable: the database refuses UPDATE and DELETE too (defence in depth).
CREATE FUNCTION "paybond_settlement_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER "SettlementConfigVersion_append_only" BEFORE UPDATE OR DELETE ON "SettlementConfigVersion"
  FOR EACH ROW EXECUTE FUNCTION "paybond_settlement_append_only"();
