-- CreateTable
CREATE TABLE "HarborIntent" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "intentId" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "principalDid" TEXT NOT NULL,
    "principalPubkey" TEXT,
    "payeeDid" TEXT NOT NULL,
    "payeePubkey" TEXT,
    "amountCents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "settlementRail" TEXT NOT NULL,
    "settlementMode" TEXT NOT NULL,
    "deadline" TIMESTAMPTZ(3) NOT NULL,
    "budget" JSONB NOT NULL,
    "evidenceSchema" JSONB NOT NULL,
    "predicate" JSONB NOT NULL,
    "predicateRef" TEXT,
    "allowedTools" TEXT[],
    "policyTemplateId" TEXT,
    "policyVersionSeq" INTEGER,
    "signingVersion" INTEGER,
    "source" TEXT NOT NULL,
    "createdBy" TEXT,
    "spentCents" INTEGER NOT NULL DEFAULT 0,
    "predicatePassed" BOOLEAN,
    "settlementAction" TEXT,
    "disputedFromState" TEXT,
    "disputeOutcome" TEXT,
    "fundingAttempts" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "HarborIntent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IntentEvidence" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "intentRowId" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "payloadDigest" TEXT NOT NULL,
    "artifacts" TEXT[],
    "artifactsDigest" TEXT NOT NULL,
    "payeeDid" TEXT NOT NULL,
    "submittedAt" TEXT NOT NULL,
    "predicatePassed" BOOLEAN NOT NULL,
    "schemaValid" BOOLEAN NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IntentEvidence_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SpendDecision" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "intentRowId" TEXT NOT NULL,
    "capabilityJti" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "requestedCents" INTEGER NOT NULL,
    "allow" BOOLEAN NOT NULL,
    "code" TEXT,
    "status" TEXT NOT NULL,
    "idempotencyKey" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMPTZ(3),

    CONSTRAINT "SpendDecision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LedgerEvent" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "intentId" TEXT,
    "type" TEXT NOT NULL,
    "amountCents" INTEGER,
    "currency" TEXT,
    "actorType" TEXT NOT NULL,
    "actorId" TEXT,
    "payloadDigest" TEXT NOT NULL,
    "occurredAt" TEXT NOT NULL,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LedgerEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LedgerHead" (
    "tenantId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "LedgerHead_pkey" PRIMARY KEY ("tenantId")
);

-- CreateTable
CREATE TABLE "IdempotencyRecord" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "credentialId" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "requestHash" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "responseBody" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "IdempotencyRecord_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RecognitionNonce" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "nonce" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "RecognitionNonce_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicyVersion" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "templateId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "parameters" JSONB NOT NULL,
    "predicate" JSONB NOT NULL,
    "digestHex" TEXT NOT NULL,
    "rawPredicate" BOOLEAN NOT NULL DEFAULT false,
    "reason" TEXT,
    "rolledBackFromSeq" INTEGER,
    "createdBy" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "publishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "PolicyVersion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "HarborIntent_tenantId_createdAt_idx" ON "HarborIntent"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "HarborIntent_tenantId_state_idx" ON "HarborIntent"("tenantId", "state");

-- CreateIndex
CREATE UNIQUE INDEX "HarborIntent_tenantId_intentId_key" ON "HarborIntent"("tenantId", "intentId");

-- CreateIndex
CREATE INDEX "IntentEvidence_intentRowId_idx" ON "IntentEvidence"("intentRowId");

-- CreateIndex
CREATE INDEX "SpendDecision_tenantId_createdAt_idx" ON "SpendDecision"("tenantId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "SpendDecision_intentRowId_idempotencyKey_key" ON "SpendDecision"("intentRowId", "idempotencyKey");

-- CreateIndex
CREATE INDEX "LedgerEvent_tenantId_intentId_idx" ON "LedgerEvent"("tenantId", "intentId");

-- CreateIndex
CREATE UNIQUE INDEX "LedgerEvent_tenantId_seq_key" ON "LedgerEvent"("tenantId", "seq");

-- CreateIndex
CREATE INDEX "IdempotencyRecord_expiresAt_idx" ON "IdempotencyRecord"("expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "IdempotencyRecord_tenantId_credentialId_route_keyHash_key" ON "IdempotencyRecord"("tenantId", "credentialId", "route", "keyHash");

-- CreateIndex
CREATE INDEX "RecognitionNonce_expiresAt_idx" ON "RecognitionNonce"("expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "RecognitionNonce_tenantId_keyId_nonce_key" ON "RecognitionNonce"("tenantId", "keyId", "nonce");

-- CreateIndex
CREATE INDEX "PolicyVersion_tenantId_templateId_status_idx" ON "PolicyVersion"("tenantId", "templateId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "PolicyVersion_tenantId_templateId_seq_key" ON "PolicyVersion"("tenantId", "templateId", "seq");

-- AddForeignKey
ALTER TABLE "HarborIntent" ADD CONSTRAINT "HarborIntent_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "IntentEvidence" ADD CONSTRAINT "IntentEvidence_intentRowId_fkey" FOREIGN KEY ("intentRowId") REFERENCES "HarborIntent"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SpendDecision" ADD CONSTRAINT "SpendDecision_intentRowId_fkey" FOREIGN KEY ("intentRowId") REFERENCES "HarborIntent"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The ledger is append-only: the database refuses UPDATE and DELETE too (defence in depth).
CREATE FUNCTION "paybond_ledger_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'LedgerEvent is append-only';
END;
$$;

CREATE TRIGGER "LedgerEvent_append_only" BEFORE UPDATE OR DELETE ON "LedgerEvent"
  FOR EACH ROW EXECUTE FUNCTION "paybond_ledger_append_only"();
