"""Write the demo's sample mails to samples/demo/ (deterministic; rerun after changing bot/samples.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from bot.samples import FormValues, form_docx, form_xlsx, registration_mail

OUT = Path(__file__).resolve().parents[1] / "samples" / "demo"
INTAKE = "intake@rb.test"
WHEN = datetime(2026, 12, 1, 1, 30, tzinfo=timezone.utc)


def cases() -> dict[str, bytes]:
    accepted = FormValues()
    deferred = FormValues(
        enterprise_name="乌海市海湖畅达物流有限公司", credit_code="91150302majg7lcm8g",
        enterprise_types="☑规上企业 □上市后备企业 □高新技术企业 □其他", industry="道路货物运输",
        contact_name="张堃", contact_phone="0473—8991234", field="交通物流",
        title="物流园区进场道路破损影响货车通行", attendees="张堃（总经理）",
        facts="物流园区东侧进场道路路面破损严重，雨后积水，重型货车通行困难，日均影响车辆300余辆次。",
        requests="请协调交通运输部门将该路段纳入年度道路维修计划。", suggested_departments="市交通运输局")
    rejected = FormValues(
        enterprise_name="内蒙古乌海天弘信息技术有限公司", credit_code="91150302MAK11LCR49",
        contact_name="刘喆", contact_phone="13847312345", field="科技创新与人才",
        title="研发费用补贴争议", petition="☑是 □否",
        facts="我公司2025年研发费用补贴申请被退回，已于2026年9月向市信访局反映，至今未解决。",
        requests="请求重新审核并拨付研发费用补贴。")
    correction = FormValues(
        enterprise_name="乌海市乌达区鑫达焦化有限公司", credit_code="91150304MAFX9A4U1A",
        district="乌达区", contact_phone="", field="能源", facts="详见附件",
        title="焦化企业用电价格问题", requests="希望降低用电价格。", judicial="")
    referred = FormValues(
        enterprise_name="乌海市镕达商贸有限公司", credit_code="91150302MAD39QL31H",
        enterprise_types="□规上企业 □上市后备企业 □高新技术企业 ☑其他", contact_name="赵敏",
        contact_phone="13904739876", field="商务与招商引资", title="门店招牌审批咨询",
        facts="我公司在海勃湾区新开门店，招牌设置审批材料多次被退回，不清楚具体要求。",
        requests="希望有关部门一次性告知招牌设置审批所需材料。")
    return {
        "01-accepted-foxmail-xlsx.eml": registration_mail(
            sender="ent1@corp.test", to=INTAKE, date=WHEN, message_id="demo-01@corp.test",
            attachments=[("来访企业预约登记表-金沙湾新材料.xlsx", form_xlsx(accepted))]),
        "02-deferred-docx.eml": registration_mail(
            sender="ent2@corp.test", to=INTAKE, date=WHEN, message_id="demo-02@corp.test",
            attachments=[("预约登记表（海湖畅达物流）.docx", form_docx(deferred))]),
        "03-rejected-petition.eml": registration_mail(
            sender="ent3@corp.test", to=INTAKE, date=WHEN, message_id="demo-03@corp.test",
            attachments=[("登记表.xlsx", form_xlsx(rejected))]),
        "04-needs-correction.eml": registration_mail(
            sender="ent4@corp.test", to=INTAKE, date=WHEN, message_id="demo-04@corp.test",
            attachments=[("鑫达焦化预约登记表.xlsx", form_xlsx(correction))]),
        "05-referred-not-on-roster.eml": registration_mail(
            sender="ent5@corp.test", to=INTAKE, date=WHEN, message_id="demo-05@corp.test",
            attachments=[("镕达商贸登记表.docx", form_docx(referred))]),
        "06-auto-reply.eml": registration_mail(
            sender="ent1@corp.test", to=INTAKE, date=WHEN, message_id="demo-06@corp.test",
            subject="自动回复：来访企业预约登记表", body="您好，我已休假，将于12月5日返回。\n",
            extra_headers={"Auto-Submitted": "auto-replied"}),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, raw in cases().items():
        (OUT / name).write_bytes(raw)
        print(OUT / name)


if __name__ == "__main__":
    main()
