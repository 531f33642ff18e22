// Prints one plain closing line, "N passed, N failed, N skipped", that CI logs can be read by
// (vitest's own summary is colored and spread over several lines). A test file that failed to
// load, or whose beforeAll threw, is failed: its tests did not run, and must not read as skipped.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of modules) {
      const states = [...module.children.allTests()].map((test) => test.result().state);
      const failedHere = states.filter((state) => state === 'failed').length;
      const notRun = states.filter((state) => state !== 'passed' && state !== 'failed').length;
      counts.passed += states.filter((state) => state === 'passed').length;
      counts.failed += failedHere;
      if (module.state() === 'failed' && failedHere === 0) {
        // The file itself failed (load error, hook error): its tests that did not run count as failed.
        counts.failed += Math.max(1, notRun);
      } else {
        counts.skipped += notRun;
      }
    }
    console.log(`\nvitest: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  }
}
