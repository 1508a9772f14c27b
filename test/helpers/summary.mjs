// Prints the plain closing line CI reads: "N passed, N failed" (vitest's own summary is not read).
//   node test/helpers/summary.mjs <vitest.json> [typecheck.json]
// Each type-checked project counts as one test, so a type error turns the line (and CI) red.
import { readFileSync } from 'node:fs';

const [file, typecheckFile] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A suite that failed to load has no tests but must count as a failure.
  for (const suite of report.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed += 1;
  }
} catch (err) {
  process.stderr.write(`summary: cannot read ${file}: ${err.message}\n`);
  failed += 1;
}
if (typecheckFile) {
  try {
    const { projects } = JSON.parse(readFileSync(typecheckFile, 'utf8'));
    if (!Array.isArray(projects) || projects.length === 0) throw new Error('no project was checked');
    for (const p of projects) {
      if (p.errors === 0) passed += 1;
      else {
        failed += 1;
        process.stderr.write(`summary: ${p.project}: ${p.errors} type error(s)\n`);
      }
    }
  } catch (err) {
    // The type check did not run or did not finish: that must not read as green.
    process.stderr.write(`summary: cannot read ${typecheckFile}: ${err.message}\n`);
    failed += 1;
  }
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
