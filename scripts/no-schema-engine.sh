#!/bin/sh
# Stand-in for Prisma's native schema engine, which is downloaded at run time and so is not
# available offline. Only `prisma generate` uses the CLI here; migrations: npm run db:migrate.
if [ "$1" = "--version" ]; then echo "schema-engine-cli 0.0.0-offline-stub"; exit 0; fi
echo "paybond: the native Prisma schema engine is not used; run npm run db:migrate / db:migration" >&2
exit 1
