// Preloaded (--import) into every server under test, started with --expose-gc and an IPC
// channel: the harness asks for memory after a forced GC without the server's code knowing.
interface Ask {
  probe: 'memory';
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  gc();
  gc();
}

if (process.send) {
  process.on('message', (msg: Ask) => {
    if (msg?.probe !== 'memory') return;
    collect();
    const m = process.memoryUsage();
    process.send?.({ probe: 'memory', rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers });
  });
  // The channel must not keep a server alive that is asked to stop.
  process.channel?.unref();
}
