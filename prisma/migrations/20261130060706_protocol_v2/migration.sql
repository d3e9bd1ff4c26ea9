-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "keyKind" TEXT NOT NULL DEFAULT 'standard',
ADD COLUMN     "label" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "mcpScopes" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "serviceAccountName" TEXT,
ADD COLUMN     "serviceAccountRole" TEXT NOT NULL DEFAULT 'operator';

-- CreateTable
CREATE TABLE "ProtocolMandateBinding" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "intentId" TEXT NOT NULL,
    "mandateDigestHex" TEXT NOT NULL,
    "signedMandate" JSONB NOT NULL,
    "mandateSignerKeyHex" TEXT NOT NULL,
    "agentKeyId" TEXT NOT NULL,
    "authorizationReceiptId" TEXT NOT NULL,
    "authorizationReceipt" JSONB NOT NULL,
    "transportBinding" JSONB NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ProtocolMandateBinding_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProtocolSettlementReceipt" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "intentId" TEXT NOT NULL,
    "receiptId" TEXT NOT NULL,
    "receipt" JSONB NOT NULL,
    "issuedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ProtocolSettlementReceipt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentRun" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "intentId" TEXT,
    "operation" TEXT NOT NULL DEFAULT '',
    "sandbox" BOOLEAN NOT NULL DEFAULT false,
    "allowedTools" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "completionPreset" TEXT NOT NULL DEFAULT '',
    "eventCount" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AgentRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentRunTraceEvent" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "agentRunId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "eventType" TEXT NOT NULL,
    "occurredAt" TIMESTAMPTZ(3),
    "data" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AgentRunTraceEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ProtocolMandateBinding_mandateDigestHex_key" ON "ProtocolMandateBinding"("mandateDigestHex");

-- CreateIndex
CREATE UNIQUE INDEX "ProtocolMandateBinding_authorizationReceiptId_key" ON "ProtocolMandateBinding"("authorizationReceiptId");

-- CreateIndex
CREATE UNIQUE INDEX "ProtocolMandateBinding_tenantId_intentId_key" ON "ProtocolMandateBinding"("tenantId", "intentId");

-- CreateIndex
CREATE UNIQUE INDEX "ProtocolSettlementReceipt_tenantId_receiptId_key" ON "ProtocolSettlementReceipt"("tenantId", "receiptId");

-- CreateIndex
CREATE UNIQUE INDEX "ProtocolSettlementReceipt_tenantId_intentId_key" ON "ProtocolSettlementReceipt"("tenantId", "intentId");

-- CreateIndex
CREATE INDEX "AgentRun_tenantId_updatedAt_idx" ON "AgentRun"("tenantId", "updatedAt");

-- CreateIndex
CREATE UNIQUE INDEX "AgentRun_tenantId_runId_key" ON "AgentRun"("tenantId", "runId");

-- CreateIndex
CREATE INDEX "AgentRunTraceEvent_tenantId_createdAt_idx" ON "AgentRunTraceEvent"("tenantId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "AgentRunTraceEvent_agentRunId_seq_key" ON "AgentRunTraceEvent"("agentRunId", "seq");

-- AddForeignKey
ALTER TABLE "AgentRunTraceEvent" ADD CONSTRAINT "AgentRunTraceEvent_agentRunId_fkey" FOREIGN KEY ("agentRunId") REFERENCES "AgentRun"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
