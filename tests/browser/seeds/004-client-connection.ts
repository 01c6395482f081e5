// Seed ../shared/seeds/004_0dcdbe4dd6c528ef.txt, section "🔌 연결 / 클라이언트 연결 예시": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
// OrderContext.tsx
useEffect(() => {
  const ws = new WebSocket('ws://localhost:3001/ws');

  ws.onopen = () => {
    console.log('WebSocket 연결됨');
  };

  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    handleWebSocketMessage(message);
  };

  ws.onerror = (error) => {
    console.error('WebSocket 오류:', error);
  };

  ws.onclose = () => {
    console.log('WebSocket 연결 종료');
    // 재연결 로직
    setTimeout(() => {
      // 재연결 시도
    }, 5000);
  };

  return () => ws.close();
}, []);
