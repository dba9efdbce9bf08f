import '@/components/styles.css';
import { render } from 'preact';
import { t, uiLocale } from '@/components/i18n';
import { OptionsApp } from './OptionsApp';

document.documentElement.lang = uiLocale();
document.title = t('options_title');
render(<OptionsApp />, document.getElementById('app')!);
