// Seed ../shared/seeds/004_0dcdbe4dd6c528ef.txt, section "1️⃣ 새 주문 생성 알림 / 구현 예시": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
case 'order:created':
  // 새 주문 추가
  setOrders(prev => [message.data, ...prev]);

  // 알림음 재생 (선택 사항)
  playNotificationSound();

  // 토스트 알림 표시
  showToast(`새 주문: #${message.data.dailyNum}`);
  break;
