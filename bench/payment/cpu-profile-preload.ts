/**
 * Preloaded into the stack's services by the profile mode of the payment bench
 * (`NODE_OPTIONS=--require <this file>`; Node 20 refuses `--cpu-prof` in NODE_OPTIONS). With
 * BENCH_CPU_PROFILE_DIR set, the first SIGWINCH (not one of the signals Nest's shutdown hooks
 * listen to, and ignored by default) starts the V8 CPU profiler in the process, the
 * second stops it and writes `<dir>/cpu-<pid>.cpuprofile`, so the profile covers exactly the
 * load window. Without the variable it does nothing.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['BENCH_CPU_PROFILE_DIR'];
if (dir) {
  let session: Session | null = null;
  process.on('SIGWINCH', () => {
    if (!session) {
      const s = new Session();
      s.connect();
      session = s;
      s.post('Profiler.enable', () =>
        s.post('Profiler.setSamplingInterval', { interval: 500 }, () => s.post('Profiler.start')),
      );
      return;
    }
    const s = session;
    session = null;
    s.post('Profiler.stop', (err, res) => {
      if (!err && res) writeFileSync(join(dir, `cpu-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
      s.disconnect();
    });
  });
}
