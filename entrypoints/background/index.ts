export default defineBackground(() => {
  console.log('Guardlens background');
});
