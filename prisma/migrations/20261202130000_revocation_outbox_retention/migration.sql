-- DropIndex
DROP INDEX "RevocationOutbox_keyPrefix_id_idx";

-- AlterTable
ALTER TABLE "RevocationOutbox" ADD COLUMN     "appliedAt" TIMESTAMPTZ(3),
ADD COLUMN     "keepUntil" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "RevocationOutbox_keyPrefix_appliedAt_id_idx" ON "RevocationOutbox"("keyPrefix", "appliedAt", "id");

-- CreateIndex
CREATE INDEX "RevocationOutbox_keyPrefix_keepUntil_idx" ON "RevocationOutbox"("keyPrefix", "keepUntil");

-- CreateTable
CREATE TABLE "RevocationBucket" (
    "keyPrefix" VARCHAR(64) NOT NULL,
    "bucket" INTEGER NOT NULL,
    "generation" VARCHAR(32) NOT NULL,
    "seq" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "RevocationBucket_pkey" PRIMARY KEY ("keyPrefix","bucket")
);
