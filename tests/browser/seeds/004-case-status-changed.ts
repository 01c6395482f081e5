// Seed ../shared/seeds/004_0dcdbe4dd6c528ef.txt, section "2️⃣ 주문 상태 변경 알림 / 구현 예시": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
case 'order:status_changed':
  // 주문 상태 업데이트
  setOrders(prev => prev.map(order =>
    order.orderId === message.data.orderId
      ? {
          ...order,
          status: message.data.status,
          ...(message.data.status === 'COMPLETED'
            ? { completedAt: new Date(message.data.updatedAt) }
            : {})
        }
      : order
  ));
  break;
