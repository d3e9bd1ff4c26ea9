-- CreateTable
CREATE TABLE "DisputeCase" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "priority" TEXT NOT NULL,
    "intentId" TEXT,
    "disputeIntentId" TEXT,
    "disputeLedgerSeq" INTEGER,
    "linkedAt" TIMESTAMPTZ(3),
    "amountCents" INTEGER,
    "currency" TEXT,
    "assigneeId" TEXT,
    "outcome" TEXT,
    "rationale" TEXT,
    "payeeAmountCents" INTEGER,
    "payerAmountCents" INTEGER,
    "resolutionLedgerSeq" INTEGER,
    "createdBy" TEXT NOT NULL,
    "closedBy" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closedAt" TIMESTAMPTZ(3),

    CONSTRAINT "DisputeCase_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DisputeCaseNote" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "caseId" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "authorType" TEXT NOT NULL,
    "authorId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DisputeCaseNote_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DisputeCaseEvidence" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "caseId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "description" TEXT,
    "uri" TEXT,
    "sha256" TEXT,
    "mediaType" TEXT,
    "ledgerSeq" INTEGER,
    "ledgerHash" TEXT,
    "ledgerType" TEXT,
    "intentId" TEXT,
    "intentEvidenceId" TEXT,
    "addedByType" TEXT NOT NULL,
    "addedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DisputeCaseEvidence_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DisputeCaseAssignment" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "caseId" TEXT NOT NULL,
    "assigneeId" TEXT NOT NULL,
    "previousAssigneeId" TEXT,
    "assignedByType" TEXT NOT NULL,
    "assignedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DisputeCaseAssignment_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "DisputeCase_tenantId_createdAt_idx" ON "DisputeCase"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "DisputeCase_tenantId_status_createdAt_idx" ON "DisputeCase"("tenantId", "status", "createdAt");

-- CreateIndex
CREATE INDEX "DisputeCase_tenantId_intentId_idx" ON "DisputeCase"("tenantId", "intentId");

-- CreateIndex
CREATE UNIQUE INDEX "DisputeCase_tenantId_disputeIntentId_key" ON "DisputeCase"("tenantId", "disputeIntentId");

-- CreateIndex
CREATE INDEX "DisputeCaseNote_caseId_createdAt_idx" ON "DisputeCaseNote"("caseId", "createdAt");

-- CreateIndex
CREATE INDEX "DisputeCaseEvidence_caseId_createdAt_idx" ON "DisputeCaseEvidence"("caseId", "createdAt");

-- CreateIndex
CREATE INDEX "DisputeCaseAssignment_caseId_createdAt_idx" ON "DisputeCaseAssignment"("caseId", "createdAt");

-- AddForeignKey
ALTER TABLE "DisputeCaseNote" ADD CONSTRAINT "DisputeCaseNote_caseId_fkey" FOREIGN KEY ("caseId") REFERENCES "DisputeCase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DisputeCaseEvidence" ADD CONSTRAINT "DisputeCaseEvidence_caseId_fkey" FOREIGN KEY ("caseId") REFERENCES "DisputeCase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DisputeCaseAssignment" ADD CONSTRAINT "DisputeCaseAssignment_caseId_fkey" FOREIGN KEY ("caseId") REFERENCES "DisputeCase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Notes, evidence references and assignments are the case's history: the database refuses UPDATE and DELETE too.
CREATE FUNCTION "paybond_dispute_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER "DisputeCaseNote_append_only" BEFORE UPDATE OR DELETE ON "DisputeCaseNote"
  FOR EACH ROW EXECUTE FUNCTION "paybond_dispute_append_only"();
CREATE TRIGGER "DisputeCaseEvidence_append_only" BEFORE UPDATE OR DELETE ON "DisputeCaseEvidence"
  FOR EACH ROW EXECUTE FUNCTION "paybond_dispute_append_only"();
CREATE TRIGGER "DisputeCaseAssignment_append_only" BEFORE UPDATE OR DELETE ON "DisputeCaseAssignment"
  FOR EACH ROW EXECUTE FUNCTION "paybond_dispute_append_only"();
