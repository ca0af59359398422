/** A development service that cannot be started: one line for the person, exit 1. */
export class LocalServiceError extends Error {}
