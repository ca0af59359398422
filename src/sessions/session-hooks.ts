// The test hooks of the session component: given to createSessions() (sessions/index.ts),
// and called by the store, the revoker and the outbox between two steps of an operation.

/** Places a test can hold an operation between two of its steps (never set in production). */
export interface SessionHooks {
  /** A restore has read the rows and is about to write them into Redis. */
  beforeRestoreWrite?: () => Promise<void>;
  /** Redis is connected again and the outbox is about to be applied (revocation-outbox.ts). */
  beforeOutboxCatchUp?: () => Promise<void>;
  /** "Every session ends" has committed in PostgreSQL and is about to reach Redis (session-revoker.ts). */
  afterCredentialChange?: () => Promise<void>;
  /** A catch-up has read a batch of pending revocations and is about to apply it. */
  afterOutboxBatchRead?: () => Promise<void>;
}
