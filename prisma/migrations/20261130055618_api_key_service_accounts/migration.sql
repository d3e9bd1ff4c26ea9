-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "keyKind" TEXT NOT NULL DEFAULT 'standard',
ADD COLUMN     "label" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "mcpScopes" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "serviceAccountName" TEXT,
ADD COLUMN     "serviceAccountRole" TEXT NOT NULL DEFAULT 'operator';
