// Seed ../shared/seeds/004_0dcdbe4dd6c528ef.txt, section "6️⃣ 시스템 설정 변경 알림 / 구현 예시": the code block below
// the scissors line, verbatim. tests/browser/README.md says what a test changes.
// --8<--
case 'settings:changed':
  // 키오스크 비활성화 시 점검 화면 표시
  if (message.data.key === 'is_kiosk_active' && message.data.value === 'false') {
    showMaintenanceScreen();
  }
  break;
