-- CreateTable
CREATE TABLE "GuardrailPolicyVersion" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "mode" TEXT NOT NULL,
    "allowedTemplates" TEXT[],
    "allowRawPredicates" BOOLEAN NOT NULL,
    "maxIntentAmountCents" JSONB NOT NULL,
    "lifecycleConfirmations" JSONB NOT NULL,
    "rateLimitProfile" JSONB NOT NULL,
    "createdBy" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "GuardrailPolicyVersion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "GuardrailPolicyVersion_tenantId_version_key" ON "GuardrailPolicyVersion"("tenantId", "version");
