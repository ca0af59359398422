// express-session + plain connect-redis 9 (node-redis 6 client), as its README sets it up.
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { sessionApp } from './reference.ts';
import { requiredEnv, serve } from './serve.ts';

const client = createClient({ url: requiredEnv('BENCH_REDIS_URL') });
client.on('error', (err: Error) => console.error(`connect-redis app: ${err.message}`));
await client.connect();
serve(sessionApp(new RedisStore({ client, prefix: `${requiredEnv('BENCH_KEY_PREFIX')}sess:` })), () => client.close());
