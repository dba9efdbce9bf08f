import { render } from 'preact';

render(<main>Guardlens</main>, document.getElementById('app')!);
