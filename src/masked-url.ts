// Credentials never reach a log line or an error message.
/** redis://user:secret@host → redis://user:****@host, for messages and logs. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}
