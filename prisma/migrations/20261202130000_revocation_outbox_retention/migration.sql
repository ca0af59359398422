-- DropIndex
DROP INDEX "RevocationOutbox_keyPrefix_id_idx";

-- AlterTable
ALTER TABLE "RevocationOutbox" ADD COLUMN     "appliedAt" TIMESTAMPTZ(3),
ADD COLUMN     "keepUntil" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "RevocationOutbox_keyPrefix_appliedAt_id_idx" ON "RevocationOutbox"("keyPrefix", "appliedAt", "id");

-- CreateIndex
CREATE INDEX "RevocationOutbox_keyPrefix_keepUntil_idx" ON "RevocationOutbox"("keyPrefix", "keepUntil");
