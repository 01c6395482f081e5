// Seed ../shared/seeds/004_0dcdbe4dd6c528ef.txt, section "🛡️ 에러 처리 및 재연결 / 재연결 전략": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
const MAX_RECONNECT_ATTEMPTS = 5;
let reconnectAttempts = 0;

ws.onclose = () => {
  if (reconnectAttempts < MAX_RECONNECT_ATTEMPTS) {
    reconnectAttempts++;
    setTimeout(() => {
      connectWebSocket();
    }, 5000);
  } else {
    showError('서버 연결이 끊어졌습니다. 페이지를 새로고침해주세요.');
  }
};

ws.onopen = () => {
  reconnectAttempts = 0; // 연결 성공 시 카운터 초기화
};
