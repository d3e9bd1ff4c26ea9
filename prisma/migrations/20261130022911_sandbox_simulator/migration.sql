-- CreateTable
CREATE TABLE "SimulatorEvent" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "intentId" TEXT,
    "kind" TEXT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "requestHash" TEXT NOT NULL,
    "settlementRail" TEXT,
    "fromState" TEXT,
    "toState" TEXT,
    "steps" TEXT[],
    "createdBy" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SimulatorEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SandboxGuardrailIntent" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "intentId" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "requestedSpendCents" INTEGER NOT NULL,
    "completionPresetId" TEXT,
    "templateId" TEXT NOT NULL,
    "createdBy" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SandboxGuardrailIntent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SimulatorEvent_tenantId_intentId_idx" ON "SimulatorEvent"("tenantId", "intentId");

-- CreateIndex
CREATE UNIQUE INDEX "SimulatorEvent_tenantId_idempotencyKey_key" ON "SimulatorEvent"("tenantId", "idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "SandboxGuardrailIntent_tenantId_intentId_key" ON "SandboxGuardrailIntent"("tenantId", "intentId");

-- Simulator events and bootstrap records are immutable: the database refuses UPDATE and DELETE too.
CREATE FUNCTION "paybond_sandbox_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER "SimulatorEvent_append_only" BEFORE UPDATE OR DELETE ON "SimulatorEvent"
  FOR EACH ROW EXECUTE FUNCTION "paybond_sandbox_append_only"();
CREATE TRIGGER "SandboxGuardrailIntent_append_only" BEFORE UPDATE OR DELETE ON "SandboxGuardrailIntent"
  FOR EACH ROW EXECUTE FUNCTION "paybond_sandbox_append_only"();
