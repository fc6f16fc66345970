// Package dashboard serves the demo's live dashboard from the binary: one
// HTML page with its script and styles embedded, and a JSON snapshot
// (/api/state) the page polls every second. It owns the in-memory view the
// page shows (throughput, class mix, anomaly series per entity with their
// bands, incidents and explanations, escalation rate, model spend); it
// reads no topic itself and must not fetch anything from outside the
// binary, so it works offline. Callers feed it what they consume.
package dashboard
