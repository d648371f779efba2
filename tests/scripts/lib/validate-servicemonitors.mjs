// Validates ServiceMonitors (a JSON array, argv[3]) against the
// prometheus-operator CRD schema as compiled into the npm models package
// installed under argv[2]. Exits non-zero naming each error.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, input] = process.argv.slice(2);
const model = join(modules, "node_modules/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor.js");
const { ServiceMonitor } = await import(pathToFileURL(model).href);
let failed = 0;
for (const doc of JSON.parse(readFileSync(input, "utf8"))) {
  try {
    new ServiceMonitor(doc).validate();
    console.log(`ServiceMonitor ${doc.metadata.name}: valid`);
  } catch (e) {
    console.error(`ServiceMonitor ${doc.metadata.name}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
