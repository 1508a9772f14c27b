/** Entry of the kiosk page: the kiosk id and token come from the URL fragment once (never sent in a request), then local storage. */
import { render } from 'preact';
import { App } from './app.js';

const frag = new URLSearchParams(location.hash.slice(1));
if (frag.get('k') && frag.get('t')) {
  localStorage.setItem('kiosk.id', frag.get('k')!);
  localStorage.setItem('kiosk.token', frag.get('t')!);
  history.replaceState(null, '', location.pathname);
}
const kioskId = localStorage.getItem('kiosk.id') ?? '';
const token = localStorage.getItem('kiosk.token') ?? '';
render(<App kioskId={kioskId} token={token} />, document.getElementById('app')!);
