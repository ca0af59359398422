// express-session + its MemoryStore: the ceiling of any express-session store.
import session from 'express-session';
import { sessionApp } from './reference.ts';
import { serve } from './serve.ts';

// In production mode express-session warns that MemoryStore leaks: true, and the point here.
const warn = console.warn;
console.warn = () => undefined;
const app = sessionApp(new session.MemoryStore());
console.warn = warn;
serve(app);
