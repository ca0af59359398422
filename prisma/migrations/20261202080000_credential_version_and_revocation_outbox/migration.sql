-- AlterTable
ALTER TABLE "User" ADD COLUMN     "credentialVersion" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "RevocationOutbox" (
    "id" BIGSERIAL NOT NULL,
    "keyPrefix" VARCHAR(64) NOT NULL,
    "idHash" VARCHAR(43) NOT NULL,
    "userId" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RevocationOutbox_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RevocationOutbox_keyPrefix_id_idx" ON "RevocationOutbox"("keyPrefix", "id");

