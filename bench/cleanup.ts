// Undo steps, run once in reverse order: on success, failure, Ctrl-C or a deadline.
export class Cleanup {
  private steps: Array<() => Promise<unknown>> = [];
  private running: Promise<void> | null = null;

  constructor(private readonly log: (message: string) => void) {}

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) await step().catch((err: Error) => this.log(`cleanup: ${err.message}`));
    })();
    return this.running;
  }

  /** Runs `main`, then the cleanup, and exits: 0 on success, 1 on failure or past the deadline, 130/143 on signals. */
  async runMain(main: () => Promise<void>, deadlineSeconds: number): Promise<never> {
    const abort = (reason: string, code: number) => {
      this.log(reason);
      void this.run().finally(() => process.exit(code));
    };
    setTimeout(() => abort(`deadline of ${deadlineSeconds} s passed; stopping`, 1), deadlineSeconds * 1000).unref();
    process.once('SIGINT', () => abort('interrupted; cleaning up', 130));
    process.once('SIGTERM', () => abort('terminated; cleaning up', 143));
    let code = 0;
    try {
      await main();
    } catch (err) {
      this.log(`failed: ${(err as Error).stack ?? String(err)}`);
      code = 1;
    }
    await this.run();
    process.exit(code);
  }
}
