// Bare Express 5: the same JSON with no session at all, the ceiling of any Express app.
import { benchAuth, meBody, referenceExpress } from './reference.ts';
import { serve } from './serve.ts';

const auth = benchAuth(Date.now(), 'rsa-bench');
const app = referenceExpress();
app.post('/login', function login(_req, res) {
  res.status(204).end();
});
app.get('/api/auth/me', function me(_req, res) {
  res.json(meBody(auth));
});
serve(app);
