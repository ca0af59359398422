/** README Settings default, shared by the app's settings and the Prisma CLI wrapper. */
export const DEFAULT_DATABASE_URL = 'postgresql://postgres:postgres@localhost:5432/redis_session_auth';
