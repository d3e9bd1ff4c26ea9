-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "authMethod" TEXT NOT NULL DEFAULT 'password',
ADD COLUMN     "ssoConnectionId" TEXT;

-- AlterTable
ALTER TABLE "User" ALTER COLUMN "passwordHash" DROP NOT NULL;

-- CreateTable
CREATE TABLE "SsoConnection" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "protocol" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'draft',
    "allowedDomains" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "jitEnabled" BOOLEAN NOT NULL DEFAULT false,
    "enforceSso" BOOLEAN NOT NULL DEFAULT false,
    "breakGlassUserId" TEXT,
    "roleMappings" JSONB NOT NULL DEFAULT '[]',
    "defaultRole" TEXT,
    "returnToAllowlist" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "clockSkewSeconds" INTEGER NOT NULL DEFAULT 120,
    "issuer" TEXT,
    "clientId" TEXT,
    "clientSecretEnc" TEXT,
    "clientSecretHint" TEXT,
    "scopes" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "idTokenAlg" TEXT,
    "idpEntityId" TEXT,
    "idpSsoUrl" TEXT,
    "idpCertsPem" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "wantResponseSigned" BOOLEAN NOT NULL DEFAULT false,
    "spKeyEnc" TEXT,
    "spCertPem" TEXT,
    "lastTestedAt" TIMESTAMPTZ(3),
    "lastTestOk" BOOLEAN,
    "lastTestError" TEXT,
    "configChangedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SsoConnection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "UserIdentity" (
    "id" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastLoginAt" TIMESTAMPTZ(3),

    CONSTRAINT "UserIdentity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SsoLoginAttempt" (
    "id" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "nonce" TEXT,
    "pkceVerifier" TEXT,
    "samlRequestId" TEXT,
    "returnTo" TEXT NOT NULL,
    "environment" TEXT NOT NULL DEFAULT 'sandbox',
    "browserBindingHash" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "consumedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SsoLoginAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SsoSamlRequest" (
    "id" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SsoSamlRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SsoAssertionSeen" (
    "connectionId" TEXT NOT NULL,
    "assertionId" TEXT NOT NULL,
    "notOnOrAfter" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SsoAssertionSeen_pkey" PRIMARY KEY ("connectionId","assertionId")
);

-- CreateTable
CREATE TABLE "SsoHandoff" (
    "id" TEXT NOT NULL,
    "codeHash" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "consumedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SsoHandoff_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SupportSession" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "staffUserId" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "ticketRef" TEXT,
    "permissions" TEXT[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "revokedAt" TIMESTAMPTZ(3),
    "revokedBy" TEXT,
    "lastUsedAt" TIMESTAMPTZ(3),
    "requestCount" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "SupportSession_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SsoConnection_organizationId_idx" ON "SsoConnection"("organizationId");

-- CreateIndex
CREATE INDEX "UserIdentity_userId_idx" ON "UserIdentity"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "UserIdentity_connectionId_issuer_subject_key" ON "UserIdentity"("connectionId", "issuer", "subject");

-- CreateIndex
CREATE UNIQUE INDEX "SsoLoginAttempt_samlRequestId_key" ON "SsoLoginAttempt"("samlRequestId");

-- CreateIndex
CREATE INDEX "SsoLoginAttempt_expiresAt_idx" ON "SsoLoginAttempt"("expiresAt");

-- CreateIndex
CREATE INDEX "SsoAssertionSeen_notOnOrAfter_idx" ON "SsoAssertionSeen"("notOnOrAfter");

-- CreateIndex
CREATE UNIQUE INDEX "SsoHandoff_codeHash_key" ON "SsoHandoff"("codeHash");

-- CreateIndex
CREATE INDEX "SupportSession_tenantId_createdAt_idx" ON "SupportSession"("tenantId", "createdAt");
