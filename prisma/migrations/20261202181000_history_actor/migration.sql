-- AlterTable
ALTER TABLE "SessionEvent" ADD COLUMN     "actorHandle" VARCHAR(22),
ADD COLUMN     "actorIp" VARCHAR(45),
ADD COLUMN     "actorUserAgent" VARCHAR(512),
ADD COLUMN     "actorUserId" UUID;
