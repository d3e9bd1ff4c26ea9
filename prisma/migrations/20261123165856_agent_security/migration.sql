-- CreateTable
CREATE TABLE "PersonalAccessToken" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "hint" TEXT NOT NULL,
    "scope" TEXT NOT NULL DEFAULT 'agent:runtime',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3),
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "PersonalAccessToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentSession" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "agentId" TEXT NOT NULL,
    "patId" TEXT,
    "trustedKeyId" TEXT,
    "publicKey" TEXT,
    "keyThumbprint" TEXT,
    "label" TEXT,
    "scope" TEXT NOT NULL,
    "authMethod" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "lastSeenAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),
    "revokedReason" TEXT,

    CONSTRAINT "AgentSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrustedAgentKey" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "publicKeyHex" TEXT NOT NULL,
    "label" TEXT,
    "createdByUserId" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "TrustedAgentKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentNonce" (
    "id" TEXT NOT NULL,
    "nonce" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "trustedKeyId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "usedAt" TIMESTAMPTZ(3),

    CONSTRAINT "AgentNonce_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "PersonalAccessToken_tokenHash_key" ON "PersonalAccessToken"("tokenHash");

-- CreateIndex
CREATE INDEX "PersonalAccessToken_tenantId_createdAt_idx" ON "PersonalAccessToken"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "AgentSession_patId_idx" ON "AgentSession"("patId");

-- CreateIndex
CREATE INDEX "AgentSession_tenantId_createdAt_idx" ON "AgentSession"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "TrustedAgentKey_publicKeyHex_idx" ON "TrustedAgentKey"("publicKeyHex");

-- CreateIndex
CREATE UNIQUE INDEX "TrustedAgentKey_tenantId_keyId_key" ON "TrustedAgentKey"("tenantId", "keyId");

-- CreateIndex
CREATE UNIQUE INDEX "AgentNonce_nonce_key" ON "AgentNonce"("nonce");

-- AddForeignKey
ALTER TABLE "PersonalAccessToken" ADD CONSTRAINT "PersonalAccessToken_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AgentSession" ADD CONSTRAINT "AgentSession_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AgentSession" ADD CONSTRAINT "AgentSession_patId_fkey" FOREIGN KEY ("patId") REFERENCES "PersonalAccessToken"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AgentSession" ADD CONSTRAINT "AgentSession_trustedKeyId_fkey" FOREIGN KEY ("trustedKeyId") REFERENCES "TrustedAgentKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrustedAgentKey" ADD CONSTRAINT "TrustedAgentKey_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AgentNonce" ADD CONSTRAINT "AgentNonce_trustedKeyId_fkey" FOREIGN KEY ("trustedKeyId") REFERENCES "TrustedAgentKey"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
