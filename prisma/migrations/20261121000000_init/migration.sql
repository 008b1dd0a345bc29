-- CreateTable
CREATE TABLE "User" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "username" TEXT NOT NULL,
    "passwordHash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "lastLoginAt" DATETIME
);

-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sid" TEXT NOT NULL,
    "data" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "userId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "last4" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" DATETIME,
    "revokedAt" DATETIME,
    CONSTRAINT "ApiKey_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Category" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "title" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "parentId" INTEGER,
    "position" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "Category_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Category" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Label" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "class" TEXT NOT NULL,
    "name" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "Download" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "slug" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "kind" TEXT NOT NULL DEFAULT 'file',
    "fileKey" TEXT,
    "fileName" TEXT,
    "originalName" TEXT,
    "size" BIGINT,
    "sha256" TEXT,
    "mimeType" TEXT,
    "remoteUrl" TEXT,
    "state" TEXT NOT NULL DEFAULT 'unpublished',
    "visible" BOOLEAN NOT NULL DEFAULT true,
    "publishOn" DATETIME,
    "retractOn" DATETIME,
    "requiresToken" BOOLEAN NOT NULL DEFAULT false,
    "tokenMaxDownloads" INTEGER,
    "tokenValidityDays" INTEGER,
    "primaryCategoryId" INTEGER,
    "downloadCount" BIGINT NOT NULL DEFAULT 0,
    "fileDownloadCount" BIGINT NOT NULL DEFAULT 0,
    "deprecated" BOOLEAN NOT NULL DEFAULT false,
    "deprecatedAt" DATETIME,
    "successorId" INTEGER,
    "createdById" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "fileUpdatedAt" DATETIME,
    CONSTRAINT "Download_primaryCategoryId_fkey" FOREIGN KEY ("primaryCategoryId") REFERENCES "Category" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Download_successorId_fkey" FOREIGN KEY ("successorId") REFERENCES "Download" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Download_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DownloadCategory" (
    "downloadId" INTEGER NOT NULL,
    "categoryId" INTEGER NOT NULL,

    PRIMARY KEY ("downloadId", "categoryId"),
    CONSTRAINT "DownloadCategory_downloadId_fkey" FOREIGN KEY ("downloadId") REFERENCES "Download" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "DownloadCategory_categoryId_fkey" FOREIGN KEY ("categoryId") REFERENCES "Category" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DownloadLabel" (
    "downloadId" INTEGER NOT NULL,
    "labelId" INTEGER NOT NULL,

    PRIMARY KEY ("downloadId", "labelId"),
    CONSTRAINT "DownloadLabel_downloadId_fkey" FOREIGN KEY ("downloadId") REFERENCES "Download" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "DownloadLabel_labelId_fkey" FOREIGN KEY ("labelId") REFERENCES "Label" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "FileVersion" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "downloadId" INTEGER NOT NULL,
    "fileKey" TEXT,
    "fileName" TEXT,
    "size" BIGINT,
    "sha256" TEXT,
    "mimeType" TEXT,
    "downloadCount" BIGINT NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL,
    "replacedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "FileVersion_downloadId_fkey" FOREIGN KEY ("downloadId") REFERENCES "Download" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "GeneratorSettings" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "downloadId" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "settings" TEXT NOT NULL,
    "assetKey" TEXT,
    "assetSha256" TEXT,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "GeneratorSettings_downloadId_fkey" FOREIGN KEY ("downloadId") REFERENCES "Download" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Token" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "downloadId" INTEGER NOT NULL,
    "hash" TEXT NOT NULL,
    "last4" TEXT NOT NULL,
    "maxDownloads" INTEGER NOT NULL,
    "validityDays" INTEGER NOT NULL,
    "expiresAt" DATETIME,
    "validUntil" DATETIME,
    "uses" INTEGER NOT NULL DEFAULT 0,
    "firstUsedAt" DATETIME,
    "lastUsedAt" DATETIME,
    "revokedAt" DATETIME,
    "note" TEXT NOT NULL DEFAULT '',
    "issuedById" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Token_downloadId_fkey" FOREIGN KEY ("downloadId") REFERENCES "Download" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Token_issuedById_fkey" FOREIGN KEY ("issuedById") REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DownloadEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "occurredAt" DATETIME NOT NULL,
    "downloadId" INTEGER,
    "source" TEXT NOT NULL DEFAULT 'server',
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "counted" BOOLEAN NOT NULL DEFAULT false,
    "method" TEXT,
    "status" INTEGER,
    "rangeStart" BIGINT,
    "rangeEnd" BIGINT,
    "userId" INTEGER,
    "tokenId" INTEGER,
    "bypass" BOOLEAN NOT NULL DEFAULT false,
    "ip" TEXT,
    "userAgent" TEXT,
    "agentClass" TEXT,
    "referrer" TEXT,
    "referrerHost" TEXT,
    "repository" TEXT,
    "artifact" TEXT,
    "artifactType" TEXT,
    "dedupeKey" TEXT,
    "completed" BOOLEAN,
    "bytesSent" BIGINT,
    "completedAt" DATETIME
);

-- CreateTable
CREATE TABLE "Rollup" (
    "granularity" TEXT NOT NULL,
    "bucket" DATETIME NOT NULL,
    "dimension" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "count" BIGINT NOT NULL DEFAULT 0,

    PRIMARY KEY ("granularity", "bucket", "dimension", "key")
);

-- CreateTable
CREATE TABLE "WebhookEndpoint" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "url" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "events" TEXT NOT NULL DEFAULT '*',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "endpointId" INTEGER NOT NULL,
    "eventType" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastStatusCode" INTEGER,
    "lastError" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" DATETIME,
    CONSTRAINT "WebhookDelivery_endpointId_fkey" FOREIGN KEY ("endpointId") REFERENCES "WebhookEndpoint" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Setting" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "User_username_key" ON "User"("username");

-- CreateIndex
CREATE UNIQUE INDEX "Session_sid_key" ON "Session"("sid");

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

-- CreateIndex
CREATE INDEX "ApiKey_userId_idx" ON "ApiKey"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "Category_slug_key" ON "Category"("slug");

-- CreateIndex
CREATE INDEX "Category_parentId_idx" ON "Category"("parentId");

-- CreateIndex
CREATE UNIQUE INDEX "Label_class_name_key" ON "Label"("class", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Download_slug_key" ON "Download"("slug");

-- CreateIndex
CREATE INDEX "Download_state_visible_idx" ON "Download"("state", "visible");

-- CreateIndex
CREATE INDEX "Download_primaryCategoryId_idx" ON "Download"("primaryCategoryId");

-- CreateIndex
CREATE INDEX "Download_createdAt_idx" ON "Download"("createdAt");

-- CreateIndex
CREATE INDEX "DownloadCategory_categoryId_idx" ON "DownloadCategory"("categoryId");

-- CreateIndex
CREATE INDEX "DownloadLabel_labelId_idx" ON "DownloadLabel"("labelId");

-- CreateIndex
CREATE INDEX "FileVersion_downloadId_idx" ON "FileVersion"("downloadId");

-- CreateIndex
CREATE UNIQUE INDEX "GeneratorSettings_downloadId_key" ON "GeneratorSettings"("downloadId");

-- CreateIndex
CREATE UNIQUE INDEX "Token_hash_key" ON "Token"("hash");

-- CreateIndex
CREATE INDEX "Token_downloadId_idx" ON "Token"("downloadId");

-- CreateIndex
CREATE UNIQUE INDEX "DownloadEvent_dedupeKey_key" ON "DownloadEvent"("dedupeKey");

-- CreateIndex
CREATE INDEX "DownloadEvent_occurredAt_idx" ON "DownloadEvent"("occurredAt");

-- CreateIndex
CREATE INDEX "DownloadEvent_downloadId_occurredAt_idx" ON "DownloadEvent"("downloadId", "occurredAt");

-- CreateIndex
CREATE INDEX "Rollup_granularity_dimension_bucket_idx" ON "Rollup"("granularity", "dimension", "bucket");

-- CreateIndex
CREATE INDEX "WebhookDelivery_status_nextAttemptAt_idx" ON "WebhookDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "WebhookDelivery_endpointId_createdAt_idx" ON "WebhookDelivery"("endpointId", "createdAt");
