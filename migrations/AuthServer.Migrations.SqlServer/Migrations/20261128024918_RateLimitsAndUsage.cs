using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AuthServer.Migrations.SqlServer.Migrations
{
    /// <inheritdoc />
    public partial class RateLimitsAndUsage : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ClientTiers",
                columns: table => new
                {
                    ClientId = table.Column<string>(type: "nvarchar(100)", maxLength: 100, nullable: false),
                    Tier = table.Column<string>(type: "nvarchar(32)", maxLength: 32, nullable: false),
                    RequestsPerMinute = table.Column<int>(type: "int", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ClientTiers", x => x.ClientId);
                });

            migrationBuilder.CreateTable(
                name: "UsageRecords",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    AccountId = table.Column<string>(type: "nvarchar(450)", maxLength: 450, nullable: false),
                    Credential = table.Column<string>(type: "nvarchar(120)", maxLength: 120, nullable: false),
                    Minute = table.Column<long>(type: "bigint", nullable: false),
                    StatusClass = table.Column<string>(type: "varchar(3)", unicode: false, maxLength: 3, nullable: false),
                    Count = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_UsageRecords", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_AccountId_Minute_Credential_StatusClass",
                table: "UsageRecords",
                columns: new[] { "AccountId", "Minute", "Credential", "StatusClass" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_Minute",
                table: "UsageRecords",
                column: "Minute");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ClientTiers");

            migrationBuilder.DropTable(
                name: "UsageRecords");
        }
    }
}
