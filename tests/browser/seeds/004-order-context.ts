// Seed ../shared/seeds/004_0dcdbe4dd6c528ef.txt, section "🔄 완전한 WebSocket 구현 예시": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
// shared/contexts/OrderContext.tsx
import { useEffect, useRef } from 'react';

export const OrderProvider = ({ children }) => {
  const wsRef = useRef<WebSocket | null>(null);
  const reconnectTimeoutRef = useRef<NodeJS.Timeout>();

  const connectWebSocket = useCallback(() => {
    const ws = new WebSocket('ws://localhost:3001/ws');

    ws.onopen = () => {
      console.log('✅ WebSocket 연결됨');
      wsRef.current = ws;
    };

    ws.onmessage = (event) => {
      try {
        const message = JSON.parse(event.data);

        switch (message.event) {
          case 'order:created':
            setOrders(prev => [message.data, ...prev]);
            playNotificationSound();
            break;

          case 'order:status_changed':
            setOrders(prev => prev.map(order =>
              order.orderId === message.data.orderId
                ? { ...order, status: message.data.status }
                : order
            ));
            break;

          case 'menu:sold_out_changed':
            // 메뉴 상태 업데이트 로직
            break;

          case 'order:cancelled':
            setOrders(prev => prev.map(order =>
              order.orderId === message.data.orderId
                ? { ...order, status: 'CANCELLED' }
                : order
            ));
            break;

          default:
            console.warn('알 수 없는 이벤트:', message.event);
        }
      } catch (error) {
        console.error('WebSocket 메시지 파싱 오류:', error);
      }
    };

    ws.onerror = (error) => {
      console.error('❌ WebSocket 오류:', error);
    };

    ws.onclose = () => {
      console.log('🔌 WebSocket 연결 종료');
      wsRef.current = null;

      // 5초 후 재연결 시도
      reconnectTimeoutRef.current = setTimeout(() => {
        console.log('🔄 WebSocket 재연결 시도...');
        connectWebSocket();
      }, 5000);
    };

    return ws;
  }, []);

  useEffect(() => {
    connectWebSocket();

    return () => {
      if (reconnectTimeoutRef.current) {
        clearTimeout(reconnectTimeoutRef.current);
      }
      if (wsRef.current) {
        wsRef.current.close();
      }
    };
  }, [connectWebSocket]);

  // ... rest of provider
};
