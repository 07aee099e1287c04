// A submitting process for the tests: `node submit-main.js URL RESULTS SETTINGS_JSON`; prints the result as JSON.
import { QueueExecutor } from '../../src/scale/queue-executor.js';
import { runSharded } from '../../src/scale/run.js';

const [url, results, settings] = process.argv.slice(2);
const executor = new QueueExecutor({ url: url!, pollMs: 100 });
try {
  const report = await runSharded('eval', JSON.parse(settings!), { results: results!, executor, onProgress: (done, total) => console.log(JSON.stringify({ done, total })) });
  console.log(JSON.stringify({ result: report.result, reused: report.reused }));
} finally {
  await executor.close();
}
