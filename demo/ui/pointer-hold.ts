// Layout changes wait while a mouse button or a finger is down. A settings field reports its
// change when it loses focus, and it loses focus when the next control is pressed: resizing the
// views at that moment moved Start out from under the pointer (the page grew shorter and the
// panel slid up), so the release landed elsewhere and the click was lost, with no message.
// Work handed to `afterRelease` runs at once when nothing is pressed, else after the release and
// the click it makes.

let pressed = false;
let waiting: (() => void)[] = [];

function release(): void {
  pressed = false;
  // After the click that this release dispatches (in the same task), not before it.
  setTimeout(() => {
    if (pressed) return;
    const run = waiting;
    waiting = [];
    for (const fn of run) fn();
  }, 0);
}

/** Starts watching presses; call once. */
export function watchPointerHold(target: EventTarget = window): void {
  target.addEventListener('pointerdown', () => { pressed = true; }, { capture: true });
  target.addEventListener('pointerup', release, { capture: true });
  target.addEventListener('pointercancel', release, { capture: true });
}

/** Runs `fn` now, or once the pointer held down is released. */
export function afterRelease(fn: () => void): void {
  if (!pressed) fn();
  else if (!waiting.includes(fn)) waiting.push(fn);
}
