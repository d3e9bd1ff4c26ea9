-- CreateTable
CREATE TABLE "LedgerCheckpoint" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "treeSize" INTEGER NOT NULL,
    "rootHash" TEXT NOT NULL,
    "origin" TEXT NOT NULL,
    "signingKey" TEXT NOT NULL,
    "note" TEXT NOT NULL,
    "subtrees" TEXT[],
    "reason" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LedgerCheckpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ComplianceExportJob" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "disclosureTier" TEXT NOT NULL,
    "filter" JSONB NOT NULL,
    "retentionHours" INTEGER NOT NULL,
    "requestedBy" TEXT NOT NULL,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "leaseOwner" TEXT,
    "leaseExpiresAt" TIMESTAMPTZ(3),
    "manifestSha256" TEXT,
    "bundleSha256" TEXT,
    "bundleSizeBytes" INTEGER,
    "checkpointTreeSize" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "completedAt" TIMESTAMPTZ(3),
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ComplianceExportJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ComplianceExportChunk" (
    "jobId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "ComplianceExportChunk_pkey" PRIMARY KEY ("jobId","attempt","seq")
);

-- CreateIndex
CREATE INDEX "LedgerCheckpoint_tenantId_createdAt_idx" ON "LedgerCheckpoint"("tenantId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "LedgerCheckpoint_tenantId_signingKey_treeSize_key" ON "LedgerCheckpoint"("tenantId", "signingKey", "treeSize");

-- CreateIndex
CREATE INDEX "ComplianceExportJob_tenantId_createdAt_idx" ON "ComplianceExportJob"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "ComplianceExportJob_status_leaseExpiresAt_idx" ON "ComplianceExportJob"("status", "leaseExpiresAt");

-- CreateIndex
CREATE INDEX "ComplianceExportJob_expiresAt_idx" ON "ComplianceExportJob"("expiresAt");

-- Signed checkpoints are evidence: like LedgerEvent, never changed or removed.
CREATE FUNCTION "paybond_checkpoint_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'LedgerCheckpoint is append-only';
END;
$$;

CREATE TRIGGER "LedgerCheckpoint_append_only" BEFORE UPDATE OR DELETE ON "LedgerCheckpoint"
  FOR EACH ROW EXECUTE FUNCTION "paybond_checkpoint_append_only"();
