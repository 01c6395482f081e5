// Seed ../shared/seeds/003_7962c2fdbbfd012f.txt, section "Quick Test / 3. Test in Browser Console": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
// Paste this in browser console (F12)
const token = 'YOUR_TOKEN_HERE';
const ws = new WebSocket(`ws://localhost:3000/ws/events/1?token=${token}`);

ws.onmessage = (e) => {
  console.log('ğŸ“¨ Received:', JSON.parse(e.data));
};

ws.onopen = () => {
  console.log('âœ… Connected!');
  ws.send(JSON.stringify({ type: 'ping' }));
};
