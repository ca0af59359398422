-- AlterEnum
ALTER TYPE "SessionEventType" ADD VALUE 'reauthenticated';

-- AlterTable
ALTER TABLE "SessionEvent" ADD COLUMN     "deviceFamily" VARCHAR(100),
ADD COLUMN     "dismissedAt" TIMESTAMPTZ(3),
ADD COLUMN     "network" VARCHAR(50),
ADD COLUMN     "newDevice" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "SessionEvent_userId_deviceFamily_idx" ON "SessionEvent"("userId", "deviceFamily");

-- CreateIndex
CREATE INDEX "SessionEvent_userId_network_idx" ON "SessionEvent"("userId", "network");
