import '@/components/styles.css';
import { render } from 'preact';
import { t, uiLocale } from '@/components/i18n';
import { PopupApp } from './PopupApp';

document.documentElement.lang = uiLocale();
document.title = t('extName');
render(<PopupApp />, document.getElementById('app')!);
