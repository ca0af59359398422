// express-session + its MemoryStore: the ceiling of any express-session store.
import session from 'express-session';
import { sessionApp } from './reference.ts';
import { serve } from './serve.ts';

serve(sessionApp(new session.MemoryStore()));
