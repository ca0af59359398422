-- The admin listing's email prefix filter (GET /admin/sessions?email=bob): `email LIKE 'bob%'`
-- can use a btree only when it compares bytes, whatever the database's collation. (The unique
-- index "User_email_key" still serves an exact address.)
-- CreateIndex
CREATE INDEX "User_email_idx" ON "User"("email" varchar_pattern_ops);
