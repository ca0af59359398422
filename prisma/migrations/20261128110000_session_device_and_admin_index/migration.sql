-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "deviceType" VARCHAR(16) NOT NULL DEFAULT 'unknown';

-- CreateIndex
CREATE INDEX "Session_createdAt_handle_idx" ON "Session"("createdAt" DESC, "handle" DESC);

