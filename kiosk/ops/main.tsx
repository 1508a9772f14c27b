/** The store ops page, mounted at /ops/. Styles ride in the bundle: esbuild writes app.css beside app.js. */
import { render } from 'preact';
import './ops.css';
import { App } from './app.js';

render(<App />, document.getElementById('app')!);
