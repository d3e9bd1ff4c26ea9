-- CreateTable
CREATE TABLE "SignalIntent" (
    "tenantId" TEXT NOT NULL,
    "intentId" TEXT NOT NULL,
    "operatorDid" TEXT NOT NULL,
    "tracks" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SignalIntent_pkey" PRIMARY KEY ("tenantId","intentId")
);

-- CreateTable
CREATE TABLE "SignalOperatorState" (
    "tenantId" TEXT NOT NULL,
    "operatorDid" TEXT NOT NULL,
    "scoreVersion" TEXT NOT NULL,
    "lastSeq" INTEGER NOT NULL,
    "state" JSONB NOT NULL,
    "firstSeenAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SignalOperatorState_pkey" PRIMARY KEY ("tenantId","operatorDid","scoreVersion")
);

-- CreateTable
CREATE TABLE "SignalScoreSnapshot" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "operatorDid" TEXT NOT NULL,
    "scoreVersion" TEXT NOT NULL,
    "receiptVersion" INTEGER NOT NULL,
    "watermarkSeq" INTEGER NOT NULL,
    "watermarkHash" TEXT NOT NULL,
    "watermarkAt" TEXT NOT NULL,
    "score" INTEGER NOT NULL,
    "alpha" DOUBLE PRECISION NOT NULL,
    "beta" DOUBLE PRECISION NOT NULL,
    "nEff" DOUBLE PRECISION NOT NULL,
    "reasonCodes" TEXT[],
    "confidenceBand" TEXT NOT NULL,
    "supportDepthBand" TEXT NOT NULL,
    "metrics" JSONB NOT NULL,
    "receipt" JSONB NOT NULL,
    "explanation" JSONB NOT NULL,
    "receiptDigest" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SignalScoreSnapshot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SignalReviewEvent" (
    "id" TEXT NOT NULL,
    "seq" SERIAL NOT NULL,
    "tenantId" TEXT NOT NULL,
    "operatorDid" TEXT NOT NULL,
    "eventType" TEXT NOT NULL,
    "requestedEventType" TEXT NOT NULL,
    "reviewOutcome" TEXT,
    "signalCode" TEXT,
    "intentId" TEXT,
    "providerEventId" TEXT,
    "summary" TEXT NOT NULL,
    "accepted" BOOLEAN NOT NULL,
    "nextEligibleAt" TIMESTAMPTZ(3),
    "actorType" TEXT NOT NULL,
    "actorId" TEXT,
    "recordedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SignalReviewEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SignalReleaseGate" (
    "tenantId" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "updatedBy" TEXT,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SignalReleaseGate_pkey" PRIMARY KEY ("tenantId")
);

-- CreateIndex
CREATE INDEX "SignalIntent_tenantId_operatorDid_createdAt_idx" ON "SignalIntent"("tenantId", "operatorDid", "createdAt");

-- CreateIndex
CREATE INDEX "SignalOperatorState_tenantId_scoreVersion_idx" ON "SignalOperatorState"("tenantId", "scoreVersion");

-- CreateIndex
CREATE INDEX "SignalScoreSnapshot_tenantId_scoreVersion_operatorDid_water_idx" ON "SignalScoreSnapshot"("tenantId", "scoreVersion", "operatorDid", "watermarkSeq");

-- CreateIndex
CREATE UNIQUE INDEX "SignalScoreSnapshot_tenantId_operatorDid_scoreVersion_recei_key" ON "SignalScoreSnapshot"("tenantId", "operatorDid", "scoreVersion", "receiptVersion");

-- CreateIndex
CREATE INDEX "SignalReviewEvent_tenantId_operatorDid_recordedAt_idx" ON "SignalReviewEvent"("tenantId", "operatorDid", "recordedAt");

-- CreateIndex
CREATE INDEX "SignalReviewEvent_tenantId_eventType_recordedAt_idx" ON "SignalReviewEvent"("tenantId", "eventType", "recordedAt");

-- Snapshots and review events are append-only, like LedgerEvent.
CREATE FUNCTION "paybond_signal_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER "SignalScoreSnapshot_append_only" BEFORE UPDATE OR DELETE ON "SignalScoreSnapshot"
  FOR EACH ROW EXECUTE FUNCTION "paybond_signal_append_only"();

CREATE TRIGGER "SignalReviewEvent_append_only" BEFORE UPDATE OR DELETE ON "SignalReviewEvent"
  FOR EACH ROW EXECUTE FUNCTION "paybond_signal_append_only"();
