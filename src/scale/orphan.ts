// A worker's child process whose parent died (SIGKILLed, say) must not go on computing for nobody.
// 'disconnect' says so at once; the check at start and the slow poll catch a parent that died
// before this module was loaded, when the event had already gone by.

export function exitWhenOrphaned(): void {
  if (!process.send) return; // not a child process with a channel to its parent
  const exitIfAlone = () => { if (!process.connected) process.exit(1); };
  process.on('disconnect', () => process.exit(1));
  exitIfAlone();
  setInterval(exitIfAlone, 1000).unref();
}
