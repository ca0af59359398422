// Loads the ALTCHA widget (served from this site, CSP-friendly build) and registers the
// proof-of-work worker the server's PBKDF2 challenges need: that build bundles no worker.
import '/static/vendor/altcha/altcha.js';

globalThis.$altcha.algorithms.set('PBKDF2/SHA-256', () => new Worker('/static/vendor/altcha/pbkdf2-worker.js'));
