// Seed ../shared/seeds/004_0dcdbe4dd6c528ef.txt, section "4️⃣ 주문 취소 알림 / 구현 예시": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
case 'order:cancelled':
  // 주문 상태를 CANCELLED로 변경
  setOrders(prev => prev.map(order =>
    order.orderId === message.data.orderId
      ? { ...order, status: 'CANCELLED', cancelledAt: new Date(message.data.cancelledAt) }
      : order
  ));

  showToast(`주문 #${message.data.dailyNum}이 취소되었습니다`);
  break;
